/**
 * Whether a frame is worth drawing: the model or the header changed since
 * the last one, or a second passed (ages and durations move). The frame
 * timer asks at most `fps` times a second, so the screen never redraws per
 * record however fast records come.
 */
export class RenderGate {
  private version = -1;
  private headerKey = '';
  private drawnAt = -Infinity;

  /** @param maxAgeMs longest time between two frames */
  constructor(private readonly maxAgeMs = 1000) {}

  due(version: number, headerKey: string, now: number): boolean {
    if (version === this.version && headerKey === this.headerKey && now - this.drawnAt < this.maxAgeMs) return false;
    this.version = version;
    this.headerKey = headerKey;
    this.drawnAt = now;
    return true;
  }
}
