/**
 * The group a control socket is opened to (--control-group): a name from
 * the group database (/etc/group: Node has no getgrnam) or a numeric gid.
 * Pure apart from reading the file.
 */
import { readFileSync } from 'node:fs';
import { HostflowError } from '../errors.js';

export interface ControlGroup {
  name: string;
  gid: number;
}

/** The group `nameOrGid` names in an /etc/group text; a number is taken as a gid even when no line has it. */
export function findGroup(groupText: string, nameOrGid: string): ControlGroup | null {
  const numeric = /^\d+$/.test(nameOrGid) ? Number(nameOrGid) : null;
  for (const line of groupText.split('\n')) {
    const [name, , gidText] = line.split(':');
    if (!name || gidText === undefined || !/^\d+$/.test(gidText)) continue;
    const gid = Number(gidText);
    if (name === nameOrGid || gid === numeric) return { name, gid };
  }
  return numeric !== null && numeric <= 0xfffffffe ? { name: nameOrGid, gid: numeric } : null;
}

/** Resolves --control-group; a one-line HostflowError when there is no such group. */
export function resolveControlGroup(nameOrGid: string, groupFile = '/etc/group'): ControlGroup {
  let text = '';
  try {
    text = readFileSync(groupFile, 'utf8');
  } catch {
    // No group file: only a numeric gid can be used.
  }
  const group = findGroup(text, nameOrGid);
  if (!group) throw new HostflowError(`--control-group ${nameOrGid}: no such group in ${groupFile} (give a name from it or a numeric gid)`);
  return group;
}
