// Asking the operator a question on the terminal.
import { createInterface } from 'node:readline/promises';
import type { CliContext } from './context.js';

/** Ask one question on the terminal (stdin / stderr); undefined on end of input. */
export async function ask(ctx: CliContext, question: string): Promise<string | undefined> {
  const rl = createInterface({ input: ctx.stdin, output: ctx.stderr, terminal: true });
  try {
    const answer = await rl.question(question, { signal: ctx.signal });
    return answer.trim();
  } catch {
    return undefined;
  } finally {
    rl.close();
  }
}
