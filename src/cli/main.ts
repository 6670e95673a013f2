#!/usr/bin/env node
// The `aoc-auth` entry point: runs the program and turns a failure into a message and an exit code.
import { reportError } from './errors.js'
import { buildProgram } from './program.js'

try {
  await buildProgram().parseAsync(process.argv)
} catch (err) {
  process.exitCode = reportError(err)
}
