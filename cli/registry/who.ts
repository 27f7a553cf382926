import { hostname, userInfo } from 'node:os';

/**
 * `<os user>@<host>`: who made a change by hand (a promotion, a rollback, an approval), as the
 * registry records it. No STS call: the AWS identity may be a shared role, the person is not.
 */
export function whoAmI(env: NodeJS.ProcessEnv = process.env): string {
  let user: string | undefined;
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): the login variables, if any.
    user = env.USER ?? env.LOGNAME ?? env.USERNAME;
  }
  return `${user || 'unknown'}@${hostname()}`;
}
