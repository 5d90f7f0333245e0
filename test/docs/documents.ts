// Which file each generated document goes to.
import { errorsReference } from './reference.js';

export const DOCUMENTS: Record<string, () => string> = {
  'docs/errors.md': errorsReference,
};
