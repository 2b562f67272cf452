import type { Command } from 'commander';

export function registerPool(program: Command): void {
  void program;
}
