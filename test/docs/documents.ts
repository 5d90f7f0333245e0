// Which file each generated document goes to.
import { configurationReference, errorsReference } from './reference.js';

export const DOCUMENTS: Record<string, () => string> = {
  'docs/configuration.md': configurationReference,
  'docs/errors.md': errorsReference,
};
