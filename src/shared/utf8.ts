/**
 * UTF-8 byte length without Node's Buffer: the path and message rules run in the browser UI
 * too (its bundle imports the bridge types, which import the protocol schemas).
 */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4; // a surrogate pair: one code point beyond the BMP
      i += 1;
    } else bytes += 3; // includes a lone surrogate, which UTF-8 encoding replaces with U+FFFD
  }
  return bytes;
}
