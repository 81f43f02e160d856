/** The part of snappyjs's API the Parquet writer uses (the package ships no types). */
declare module 'snappyjs' {
  /** Snappy's raw block format, as Parquet's SNAPPY codec stores each page; a Buffer given, a Buffer back. */
  export function compress<T extends Uint8Array | ArrayBuffer>(input: T): T;
  export function uncompress<T extends Uint8Array | ArrayBuffer>(input: T, maxLength?: number): T;
  const snappy: { compress: typeof compress; uncompress: typeof uncompress };
  export default snappy;
}
