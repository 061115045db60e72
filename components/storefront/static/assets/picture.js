// A placeholder picture per product (the demo catalog's image URLs point
// nowhere): an SVG with the product's initials on a colour from its SKU.

const NS = 'http://www.w3.org/2000/svg';

function hue(text) {
  let n = 0;
  for (const c of text) n = (n * 31 + c.codePointAt(0)) % 360;
  return n;
}

export function picture(product) {
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 400 300');
  svg.setAttribute('class', 'picture');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `Picture of ${product.name}`);
  const base = hue(product.sku || product.id);
  const rect = document.createElementNS(NS, 'rect');
  for (const [k, v] of Object.entries({ width: 400, height: 300, fill: `hsl(${base} 45% 88%)` })) rect.setAttribute(k, v);
  const circle = document.createElementNS(NS, 'circle');
  for (const [k, v] of Object.entries({ cx: 200, cy: 150, r: 90, fill: `hsl(${base} 40% 40%)` })) circle.setAttribute(k, v);
  const text = document.createElementNS(NS, 'text');
  for (const [k, v] of Object.entries({ x: 200, y: 172, 'text-anchor': 'middle', 'font-size': 64, 'font-family': 'system-ui, sans-serif', fill: '#fff' })) text.setAttribute(k, v);
  text.textContent = product.name.split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join('');
  svg.append(rect, circle, text);
  return svg;
}

// "Sold out", "Only 3 left", "In stock", with a class for its colour.
export function stockText(stock) {
  if (stock <= 0) return ['Sold out', 'stock out'];
  if (stock <= 5) return [`Only ${stock} left`, 'stock low'];
  return ['In stock', 'stock'];
}
