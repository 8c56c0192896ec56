package scoring

import (
	"math"
	"testing"
	"unicode"
)

func TestLastNumber(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want float64
		ok   bool
	}{
		{in: "42", want: 42, ok: true},
		{in: "The answer is 42.", want: 42, ok: true},
		{in: "3.14", want: 3.14, ok: true},
		{in: "1,000", want: 1000, ok: true},
		{in: "1,234,567.89 dollars", want: 1234567.89, ok: true},
		{in: "1e3", want: 1000, ok: true},
		{in: "2.5E-2", want: 0.025, ok: true},
		{in: "6.02e+23 atoms", want: 6.02e23, ok: true},
		{in: "x = -7", want: -7, ok: true},
		{in: "-7", want: -7, ok: true},
		{in: "+7", want: 7, ok: true},
		{in: "(-7)", want: -7, ok: true},
		{in: "x = \u22127", want: -7, ok: true},
		{in: "5-3", want: 3, ok: true},
		{in: "10 - 3", want: 3, ok: true},
		{in: "GPT-4", want: 4, ok: true},
		{in: "x-7", want: 7, ok: true},
		{in: "é-7", want: 7, ok: true},
		{in: "2 eggs", want: 2, ok: true},
		{in: "3em", want: 3, ok: true},
		{in: "1e", want: 1, ok: true},
		{in: "1e-", want: 1, ok: true},
		{in: "3,14", want: 14, ok: true},
		{in: "1,0000", want: 0, ok: true},
		{in: "1,000,00", want: 0, ok: true},
		{in: "1234,567", want: 567, ok: true},
		{in: "1, 2, 3", want: 3, ok: true},
		{in: "1,000.", want: 1000, ok: true},
		{in: ".5", want: 0.5, ok: true},
		{in: "-.5", want: -0.5, ok: true},
		{in: "version 3.2.1", want: 1, ok: true},
		{in: "v.5", want: 5, ok: true},
		{in: "H2O", want: 2, ok: true},
		{in: "abc123def", want: 123, ok: true},
		{in: "first 10, then 20, finally 30.", want: 30, ok: true},
		{in: "007", want: 7, ok: true},
		{in: "1e999", want: math.Inf(1), ok: true},
		{in: "-1e999", want: math.Inf(-1), ok: true},
		{in: "1e-999", want: 0, ok: true},
		{in: "", ok: false},
		{in: "no digits here", ok: false},
		{in: "forty-two.", ok: false},
		{in: "-", ok: false},
		{in: ". , e", ok: false},
		{in: "٤٢", ok: false}, // Arabic-Indic digits are not ASCII
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, ok := lastNumber(tc.in)
			if ok != tc.ok || got != tc.want {
				t.Errorf("lastNumber(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestWithin(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name           string
		x, target, tol float64
		want           bool
	}{
		{name: "OKEqual", x: 0.3, target: 0.3, want: true},
		{name: "OKBoundaryAfterRounding", x: 0.4, target: 0.3, tol: 0.1, want: true},
		{name: "OKBoundaryBelow", x: 0.2, target: 0.3, tol: 0.1, want: true},
		{name: "OKLargeMagnitude", x: 1e20 + 1e5, target: 1e20, tol: 1e5, want: true},
		{name: "ErrZeroToleranceNoSlack", x: 0.30000000000000004, target: 0.3, want: false},
		{name: "ErrJustOutside", x: 0.4000001, target: 0.3, tol: 0.1, want: false},
		{name: "ErrInf", x: math.Inf(1), target: 0, tol: math.MaxFloat64, want: false},
		{name: "ErrNaN", x: math.NaN(), target: 0, tol: 1, want: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := within(tc.x, tc.target, tc.tol); got != tc.want {
				t.Errorf("within(%v, %v, %v) = %v, want %v", tc.x, tc.target, tc.tol, got, tc.want)
			}
		})
	}
}

func TestFoldRune(t *testing.T) {
	t.Parallel()
	// Every pair strings.EqualFold treats as equal must fold to one rune.
	pairs := [][2]rune{{'a', 'A'}, {'k', '\u212a'}, {'s', 'ſ'}, {'σ', 'ς'}, {'Σ', 'ς'}, {'ǆ', 'ǅ'}, {'é', 'É'}}
	for _, p := range pairs {
		if foldRune(p[0]) != foldRune(p[1]) {
			t.Errorf("foldRune(%q) = %q, foldRune(%q) = %q; want equal", p[0], foldRune(p[0]), p[1], foldRune(p[1]))
		}
	}
	for _, p := range [][2]rune{{'a', 'b'}, {'e', 'é'}, {'1', '!'}} {
		if foldRune(p[0]) == foldRune(p[1]) {
			t.Errorf("foldRune(%q) == foldRune(%q); want different", p[0], p[1])
		}
	}
}

func TestFoldRune_OrbitInvariant(t *testing.T) {
	t.Parallel()
	// The ASCII fast path and the orbit walk must agree for every rune, or
	// contains would disagree with EqualFold on some letter.
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if f := foldRune(r); f != foldRune(unicode.SimpleFold(r)) || f > r {
			t.Fatalf("foldRune(%U) = %U, foldRune(SimpleFold) = %U", r, f, foldRune(unicode.SimpleFold(r)))
		}
	}
}
