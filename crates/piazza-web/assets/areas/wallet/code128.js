// Code 128 barcodes drawn as SVG, for the payment code (18 digits) that a
// till's laser scanner reads. Set C packs two digits per symbol, so an
// 18-digit code is 9 data symbols between start, check and stop.

/**
 * Bar/space widths in modules of every symbol value 0..106 (ISO/IEC
 * 15417): six elements, bar first, eleven modules; 106 is the stop, with a
 * seventh (the termination bar) and thirteen modules.
 */
const PATTERNS = [
  '212222', '222122', '222221', '121223', '121322', '131222', '122213', '122312', '132212', '221213',
  '221312', '231212', '112232', '122132', '122231', '113222', '123122', '123221', '223211', '221132',
  '221231', '213212', '223112', '312131', '311222', '321122', '321221', '312212', '322112', '322211',
  '212123', '212321', '232121', '111323', '131123', '131321', '112313', '132113', '132311', '211313',
  '231113', '231311', '112133', '112331', '132131', '113123', '113321', '133121', '313121', '211331',
  '231131', '213113', '213311', '213131', '311123', '311321', '331121', '312113', '312311', '332111',
  '314111', '221411', '431111', '111224', '111422', '121124', '121421', '141122', '141221', '112214',
  '112412', '122114', '122411', '142112', '142211', '241211', '221114', '413111', '241112', '134111',
  '111242', '121142', '121241', '114212', '124112', '124211', '411212', '421112', '421211', '212141',
  '214121', '412121', '111143', '111341', '131141', '114113', '114311', '411113', '411311', '113141',
  '114131', '311141', '411131', '211412', '211214', '211232', '2331112',
];
const START_C = 105;
const STOP = 106;
const CHECK_MODULUS = 103;
/** Blank modules each side, so a scanner finds where the code begins. */
const QUIET_MODULES = 10;
/** Longest input drawn; a payment code is 18 digits. */
const DIGITS_MAX = 64;

/**
 * The symbol values for an even-length string of digits in set C: start,
 * one value per digit pair, the check value, stop. Null for other input.
 */
export function code128cValues(digits) {
  const text = String(digits);
  if (!/^(\d\d)+$/.test(text) || text.length > DIGITS_MAX) return null;
  const values = [START_C];
  for (let i = 0; i < text.length; i += 2) values.push(Number(text.slice(i, i + 2)));
  // The check value weighs the start by 1 and each data symbol by its place.
  let sum = START_C;
  for (let place = 1; place < values.length; place += 1) sum += values[place] * place;
  values.push(sum % CHECK_MODULUS, STOP);
  return values;
}

/** The bars as [startModule, widthModules] pairs, and the total width. */
export function code128cBars(digits) {
  const values = code128cValues(digits);
  if (!values) return null;
  const bars = [];
  let x = QUIET_MODULES;
  for (const value of values) {
    const widths = PATTERNS[value];
    for (let i = 0; i < widths.length; i += 1) {
      const width = Number(widths[i]);
      if (i % 2 === 0) bars.push([x, width]);
      x += width;
    }
  }
  return { bars, modules: x + QUIET_MODULES };
}

/**
 * An <svg> element of the code (built with DOM calls, no markup strings),
 * `height` modules tall; it scales to its box, crisp at any width.
 */
export function code128cSvg(digits, { label = '', height = 50 } = {}) {
  const drawn = code128cBars(digits);
  if (!drawn) return null;
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${drawn.modules} ${height}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('shape-rendering', 'crispEdges');
  svg.setAttribute('class', 'barcode');
  svg.setAttribute('role', 'img');
  if (label) svg.setAttribute('aria-label', label);
  const background = document.createElementNS(ns, 'rect');
  background.setAttribute('width', String(drawn.modules));
  background.setAttribute('height', String(height));
  background.setAttribute('fill', '#fff');
  svg.append(background);
  // One path for all bars keeps the DOM small.
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', drawn.bars.map(([x, width]) => `M${x} 0h${width}v${height}h-${width}z`).join(''));
  path.setAttribute('fill', '#000');
  svg.append(path);
  return svg;
}
