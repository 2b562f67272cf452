import type { Command } from 'commander';

export function registerFilesystem(program: Command): void {
  void program;
}
