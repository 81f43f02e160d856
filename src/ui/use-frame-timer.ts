import { useEffect, useRef } from 'react';

/**
 * Calls `onFrame` `fps` times a second while mounted: the one place the
 * screen is asked to redraw for new data, whatever the record rate.
 */
export function useFrameTimer(fps: number, onFrame: () => void): void {
  const callback = useRef(onFrame);
  callback.current = onFrame;
  useEffect(() => {
    const timer = setInterval(() => callback.current(), Math.max(1, Math.round(1000 / fps)));
    return () => clearInterval(timer);
  }, [fps]);
}
