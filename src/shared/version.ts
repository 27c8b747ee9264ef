/** Herald's version: package.json's, which the README's changelog names (`herald --version`, `GET /_health`). */
import { readFileSync } from 'node:fs';

// Read beside the sources (the build keeps `import.meta.url` pointing at this file), so tsx and dist/ agree.
export const HERALD_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
