import type { Command } from 'commander';

export function registerContainer(program: Command): void {
  void program;
}
