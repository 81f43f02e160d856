import { Box, Text } from 'ink';
import { COLUMN_GAP } from '../state/layout.js';
import type { TableFrame } from '../state/frame.js';
import type { Style, Theme } from '../theme.js';

/** One table line: cells in boxes of their column's width (so wide characters cannot push columns), the line filled to `width`. */
function TableLine({ cells, widths, width, style }: { cells: string[]; widths: number[]; width: number; style: (index: number) => Style }) {
  const used = widths.reduce((sum, w) => sum + w, 0) + COLUMN_GAP * Math.max(0, widths.length - 1);
  return (
    <Box width={width} height={1}>
      {cells.map((cell, index) => {
        const last = index === cells.length - 1;
        const boxWidth = (widths[index] ?? 0) + (last ? Math.max(0, width - used) : COLUMN_GAP);
        return (
          <Box key={index} width={boxWidth}>
            <Text wrap="truncate-end" {...style(index)}>
              {cell.padEnd(boxWidth)}
            </Text>
          </Box>
        );
      })}
    </Box>
  );
}

export function Table({ table, theme, width }: { table: TableFrame; theme: Theme; width: number }) {
  const { tones, rows } = theme;
  return (
    <Box flexDirection="column" width={width}>
      <TableLine
        cells={table.heading}
        widths={table.widths}
        width={width}
        style={(index) => (index === table.sortedColumn ? tones.headingSorted : tones.heading)}
      />
      {table.rows.map((row) => (
        <TableLine
          key={row.key}
          cells={row.cells}
          widths={table.widths}
          width={width}
          style={() => (row.selected ? { ...rows[row.tone], ...tones.selected } : rows[row.tone])}
        />
      ))}
    </Box>
  );
}
