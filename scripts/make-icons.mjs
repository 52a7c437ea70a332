#!/usr/bin/env node
/**
 * Draws Ferry's icons into resources/ (the output is committed; run again after changing a
 * shape or colour): the app icon, and a tray icon per sync state as PNG at 1x and 2x, as macOS
 * template images (black and alpha; the menu bar tints them) and as Windows .ico files.
 *
 * The mark: a ferry on a wave inside a circle. A state other than "up to date" adds a badge at
 * the lower right (syncing: an arrow ring, paused: two bars, error: "!", conflict: a diamond);
 * offline draws the mark faded. Shapes are drawn by sampling each pixel 5×5 times.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';

const OUT = join(import.meta.dirname, '..', 'resources');

// Shapes: functions of a point in the unit square (0,0 top left) answering "inside?".
const circle = (cx, cy, r) => (x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
const rect = (x0, y0, x1, y1) => (x, y) => x >= x0 && x <= x1 && y >= y0 && y <= y1;
const not = (s) => (x, y) => !s(x, y);
const and = (...ss) => (x, y) => ss.every((s) => s(x, y));
const or = (...ss) => (x, y) => ss.some((s) => s(x, y));
/** A band following a sine: the water line. */
const wave = (y0, amplitude, wavelength, thickness) => (x, y) => Math.abs(y - (y0 + amplitude * Math.sin((2 * Math.PI * x) / wavelength))) <= thickness / 2;
/** The hull: wider at the deck than at the keel. */
const hull = (x, y) => y >= 0.44 && y <= 0.58 && x >= 0.24 + (y - 0.44) * 0.55 && x <= 0.76 - (y - 0.44) * 0.55;
const cabin = or(rect(0.36, 0.32, 0.62, 0.44), rect(0.44, 0.25, 0.52, 0.32));
const inDisc = circle(0.5, 0.5, 0.47);
const ferry = or(hull, cabin, and(wave(0.7, 0.025, 0.24, 0.07), circle(0.5, 0.5, 0.4)));

const BADGE = { cx: 0.75, cy: 0.75, r: 0.25, gap: 0.06 };
const inBadge = circle(BADGE.cx, BADGE.cy, BADGE.r);
const badgeGap = circle(BADGE.cx, BADGE.cy, BADGE.r + BADGE.gap);
const at = (dx, dy) => [BADGE.cx + dx * BADGE.r, BADGE.cy + dy * BADGE.r];

/** The symbol inside each state's badge, in badge-relative units. */
const SYMBOLS = {
  syncing: (() => {
    const [cx, cy] = at(0, 0);
    const ring = and(circle(cx, cy, BADGE.r * 0.62), not(circle(cx, cy, BADGE.r * 0.32)), not(rect(cx, cy - BADGE.r, cx + BADGE.r, cy)));
    // The arrow head at the ring's open end.
    const head = (x, y) => {
      const u = (x - cx) / BADGE.r;
      const v = (y - cy) / BADGE.r;
      return v <= 0 && v >= -0.75 && u >= 0 && u <= 0.75 + v * 0 && Math.abs(u - 0.47) <= (v + 0.75) * 0.55;
    };
    return or(ring, head);
  })(),
  paused: or(rect(...at(-0.4, -0.45), ...at(-0.1, 0.45)), rect(...at(0.1, -0.45), ...at(0.4, 0.45))),
  error: or(rect(...at(-0.13, -0.58), ...at(0.13, 0.18)), circle(...at(0, 0.45), BADGE.r * 0.15)),
  conflict: (x, y) => Math.abs(x - BADGE.cx) + Math.abs(y - BADGE.cy) <= BADGE.r * 0.55,
};

const COLOURS = {
  mark: [37, 99, 235],
  faded: [138, 143, 152],
  white: [255, 255, 255],
  black: [0, 0, 0],
  badge: { syncing: [37, 99, 235], paused: [107, 114, 128], error: [220, 38, 38], conflict: [245, 158, 11] },
};

/** A state's picture as layers, painted in order: [shape, [r, g, b, a]] (a transparent layer erases). */
function layers(state, template) {
  const markColour = template ? COLOURS.black : state === 'offline' ? COLOURS.faded : COLOURS.mark;
  const alpha = template && state === 'offline' ? 0.45 : 1;
  const badged = state in SYMBOLS;
  const disc = badged ? and(inDisc, not(badgeGap)) : inDisc;
  const out = [
    [disc, [...markColour, alpha]],
    // The ferry is the disc's negative space in a template image, white on the coloured disc otherwise.
    [and(disc, ferry), template ? [0, 0, 0, 0] : [...COLOURS.white, 1]],
  ];
  if (badged) {
    out.push([inBadge, template ? [0, 0, 0, 1] : [...COLOURS.badge[state], 1]]);
    out.push([and(inBadge, SYMBOLS[state]), template ? [0, 0, 0, 0] : [...COLOURS.white, 1]]);
  }
  return out;
}

/** The app icon: the mark alone, large, with a light-to-deep blue fill. */
function appLayers() {
  return [
    [inDisc, (x, y) => [Math.round(59 - 30 * y), Math.round(130 - 60 * y), Math.round(246 - 40 * y), 1]],
    [and(inDisc, ferry), [...COLOURS.white, 1]],
  ];
}

function render(size, paint) {
  const n = 5;
  const pixels = Buffer.alloc(size * size * 4);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < n; sy++) {
        for (let sx = 0; sx < n; sx++) {
          const x = (px + (sx + 0.5) / n) / size;
          const y = (py + (sy + 0.5) / n) / size;
          let c = [0, 0, 0, 0];
          for (const [shape, colour] of paint) if (shape(x, y)) c = typeof colour === 'function' ? colour(x, y) : colour;
          r += c[0] * c[3];
          g += c[1] * c[3];
          b += c[2] * c[3];
          a += c[3];
        }
      }
      const i = (py * size + px) * 4;
      // Averaged premultiplied, then back to straight alpha as PNG wants.
      pixels[i] = a ? Math.round(r / a) : 0;
      pixels[i + 1] = a ? Math.round(g / a) : 0;
      pixels[i + 2] = a ? Math.round(b / a) : 0;
      pixels[i + 3] = Math.round((a / (n * n)) * 255);
    }
  }
  return pixels;
}

function chunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

function png(size, pixels) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bits per channel
  ihdr[9] = 6; // RGBA
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) pixels.copy(rows, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

/** A .ico holding PNG images (Windows Vista and later read these). */
function ico(images) {
  const header = Buffer.alloc(6 + 16 * images.length);
  header.writeUInt16LE(1, 2); // icon
  header.writeUInt16LE(images.length, 4);
  let offset = header.length;
  images.forEach(({ size, data }, i) => {
    const e = 6 + 16 * i;
    header[e] = size >= 256 ? 0 : size;
    header[e + 1] = size >= 256 ? 0 : size;
    header.writeUInt16LE(1, e + 4); // colour planes
    header.writeUInt16LE(32, e + 6); // bits per pixel
    header.writeUInt32LE(data.length, e + 8);
    header.writeUInt32LE(offset, e + 12);
    offset += data.length;
  });
  return Buffer.concat([header, ...images.map((i) => i.data)]);
}

const STATES = ['idle', 'syncing', 'offline', 'paused', 'error', 'conflict'];

await mkdir(join(OUT, 'tray'), { recursive: true });
for (const state of STATES) {
  const colour = layers(state, false);
  const template = layers(state, true);
  await writeFile(join(OUT, 'tray', `tray-${state}.png`), png(16, render(16, colour)));
  await writeFile(join(OUT, 'tray', `tray-${state}@2x.png`), png(32, render(32, colour)));
  await writeFile(join(OUT, 'tray', `tray-${state}Template.png`), png(16, render(16, template)));
  await writeFile(join(OUT, 'tray', `tray-${state}Template@2x.png`), png(32, render(32, template)));
  // Windows tray sizes at 100, 125, 150 and 200 % scaling.
  const sizes = [16, 20, 24, 32];
  await writeFile(join(OUT, 'tray', `tray-${state}.ico`), ico(sizes.map((size) => ({ size, data: png(size, render(size, colour)) }))));
}
await writeFile(join(OUT, 'icon.png'), png(1024, render(1024, appLayers())));
await writeFile(join(OUT, 'icon-512.png'), png(512, render(512, appLayers())));
console.log(`icons written to ${OUT}`);
