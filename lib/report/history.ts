/** The trainer owns the history's shape; the report renders it. */
export type { EpochLog } from '../model/history.ts';
