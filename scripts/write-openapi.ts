// `npm run openapi`: regenerates openapi.yaml from the route schemas.
import fs from 'node:fs/promises'
import { documentYaml, OPENAPI_YAML, openApiDocument } from './openapi-document.js'

await fs.writeFile(OPENAPI_YAML, documentYaml(await openApiDocument()))
process.stdout.write(`wrote ${OPENAPI_YAML}\n`)
