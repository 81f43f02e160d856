import { Box } from 'ink';
import type { Frame } from '../state/frame.js';
import type { Theme } from '../theme.js';
import { StyledLine } from './styled-line.js';
import { Table } from './table.js';

/** The whole screen: header, tabs, caption, the body (a table, details or help), footer. */
export function Screen({ frame, theme }: { frame: Frame; theme: Theme }) {
  const { width } = frame;
  return (
    <Box flexDirection="column" width={width} height={frame.height} overflow="hidden">
      {frame.header.map((line, index) => (
        <StyledLine key={`header-${index}`} line={line} theme={theme} width={width} />
      ))}
      <StyledLine line={frame.tabs} theme={theme} width={width} />
      <StyledLine line={frame.caption} theme={theme} width={width} />
      {frame.body.map((block, index) =>
        block.kind === 'table' ? (
          <Table key={`body-${index}`} table={block.table} theme={theme} width={width} />
        ) : (
          <StyledLine key={`body-${index}`} line={block.line} theme={theme} width={width} />
        ),
      )}
      <StyledLine line={frame.footer} theme={theme} width={width} />
    </Box>
  );
}
