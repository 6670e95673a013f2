import neostandard from 'neostandard'

export default neostandard({ ts: true, ignores: ['examples/typescript-client/src/api.d.ts', 'dist/**', 'node_modules/**', 'data/**', '.tap/**', 'scratch/**', 'test-output/**'] })
