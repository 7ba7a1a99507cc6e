// SPDX-License-Identifier: MIT
// A real V8 heap: objects with string and number fields, arrays of doubles, JSON
// text, a Map of short strings, closures. Prints 'ready' and sleeps, so that its
// anonymous memory can be dumped as a corpus (scripts/make-runtime-corpus.sh).
'use strict';
let seed = 7;
const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
const people = [];
for (let i = 0; i < 600000; i++)
	people.push({ id: i, name: words[i % 8] + '-' + i, score: rnd() * 100,
		      tags: [words[(i * 3) % 8], words[(i * 5) % 8]], active: (i & 1) === 0 });
const floats = [];
for (let i = 0; i < 40; i++) {
	const a = new Float64Array(100000);
	for (let j = 0; j < a.length; j++) a[j] = rnd() * j;
	floats.push(a);
}
const docs = [];
for (let i = 0; i < 200000; i++)
	docs.push(JSON.stringify({ a: i, b: [1, 2, 3], c: 'x'.repeat(i % 50), d: words[i % 8] }));
const map = new Map();
for (let i = 0; i < 400000; i++) map.set('key' + i, [i, String(i).repeat(3)]);
const fns = [];
for (let i = 0; i < 100000; i++) { const k = i; fns.push(() => k * 2); }
console.log('ready', people.length, floats.length, docs.length, map.size, fns.length);
setInterval(() => {}, 1 << 30);
