import { useStdout } from 'ink';
import { useEffect, useState } from 'react';
import type { TerminalSize } from './state/controller.js';

/** Columns and rows of the stdout Ink draws on, following resizes (80x24 when it does not say). */
export function useTerminalSize(): TerminalSize {
  const { stdout } = useStdout();
  const read = (): TerminalSize => ({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = () => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  return size;
}
