import { Type, type TProperties } from '@sinclair/typebox'

export { OrgParams } from './schemas.js'

/** A page's form body, for the OpenAPI document: the fields plus the CSRF token every form carries. */
export const PageForm = (fields: TProperties) => Type.Object({
  _csrf: Type.String({ description: 'The CSRF token of the page that holds the form.' }),
  ...fields
}, { additionalProperties: true })

/** The pages read their own input and answer with a page; ajv must not answer first with JSON. */
export const acceptAll = () => () => true
