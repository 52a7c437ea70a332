/** Ferry's version, reported by the server in `welcome` and by `ferry --version`. Kept equal to package.json (a test checks). */
export const VERSION = '0.1.0';
