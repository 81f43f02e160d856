/** getaddrinfo return codes as glibc's <netdb.h> names them. */
const EAI_NAMES: Record<number, string> = {
  [-1]: 'EAI_BADFLAGS',
  [-2]: 'EAI_NONAME',
  [-3]: 'EAI_AGAIN',
  [-4]: 'EAI_FAIL',
  [-5]: 'EAI_NODATA',
  [-6]: 'EAI_FAMILY',
  [-7]: 'EAI_SOCKTYPE',
  [-8]: 'EAI_SERVICE',
  [-9]: 'EAI_ADDRFAMILY',
  [-10]: 'EAI_MEMORY',
  [-11]: 'EAI_SYSTEM',
  [-12]: 'EAI_OVERFLOW',
};

/** 'OK' for success, the EAI_* name otherwise, or the number when unknown. */
export function gaiStatus(ret: number): string {
  if (ret === 0) return 'OK';
  return EAI_NAMES[ret] ?? `EAI_${ret}`;
}
