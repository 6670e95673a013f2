#!/usr/bin/env node
// The `aoc-auth` entry point: runs the program on this process's environment and output, and exits
// with its code.
import { runProgram } from './program.js'

process.exitCode = await runProgram(process.argv.slice(2))
