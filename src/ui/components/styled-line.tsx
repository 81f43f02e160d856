import { Box, Text } from 'ink';
import type { Line } from '../state/frame.js';
import type { Theme } from '../theme.js';

/** One line of toned segments, cut at the terminal's width. */
export function StyledLine({ line, theme, width }: { line: Line; theme: Theme; width: number }) {
  return (
    <Box width={width} height={1}>
      <Text wrap="truncate-end">
        {line.length === 0
          ? ' '
          : line.map((segment, index) => (
              <Text key={index} {...theme.tones[segment.tone]}>
                {segment.text}
              </Text>
            ))}
      </Text>
    </Box>
  );
}
