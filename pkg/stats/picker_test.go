package stats

import (
	"math/rand/v2"
	"testing"
)

// chiSquare returns Pearson's statistic for counts against equal expected
// frequencies.
func chiSquare(counts []int, total int) float64 {
	e := float64(total) / float64(len(counts))
	var x float64
	for _, c := range counts {
		d := float64(c) - e
		x += d * d / e
	}
	return x
}

func TestPicker(t *testing.T) {
	t.Parallel()

	t.Run("Uniform", func(t *testing.T) {
		t.Parallel()
		// n = 7 does not divide 2^32 (2^32 mod 7 = 4), so some products are
		// rejected. 700,000 draws, 6 degrees of freedom: a chi-square above
		// 35 has probability about 1e-5 for a uniform picker. The seed is
		// fixed, so the statistic is too.
		p := newPicker(rand.NewPCG(1, 2), 7)
		idx := make([]uint32, 700_000)
		p.fill(idx)
		counts := make([]int, 7)
		for _, i := range idx {
			counts[i]++
		}
		if x := chiSquare(counts, len(idx)); x > 35 {
			t.Errorf("counts %v: chi-square %.1f, want below 35", counts, x)
		}
	})

	t.Run("RejectionRemovesBias", func(t *testing.T) {
		t.Parallel()
		// n = 3 * 2^30: a 32-bit x maps to floor(3x/4), so without
		// rejection every index divisible by 3 is hit by two values of x
		// and the others by one: residues mod 3 would come out 1/2, 1/4,
		// 1/4. Lemire's threshold 2^32 mod n = 2^30 rejects exactly the x
		// that are multiples of 4 (low product half (3x mod 4) * 2^30 < 2^30),
		// one of each double hit, leaving 1/3 each. 300,000 draws, 2 degrees
		// of freedom: above 25 has probability about 4e-6; the unrejected
		// picker would score about 37,500.
		const n = 3 << 30
		p := newPicker(rand.NewPCG(3, 4), n)
		if p.thr != 1<<30 {
			t.Fatalf("threshold %d, want 2^30", p.thr)
		}
		idx := make([]uint32, 300_000)
		p.fill(idx)
		counts := make([]int, 3)
		for _, i := range idx {
			if i >= n {
				t.Fatalf("index %d out of [0, %d)", i, n)
			}
			counts[i%3]++
		}
		if x := chiSquare(counts, len(idx)); x > 25 {
			t.Errorf("residues mod 3 %v: chi-square %.1f, want below 25", counts, x)
		}
	})

	t.Run("OddLengthAndBounds", func(t *testing.T) {
		t.Parallel()
		// An odd length takes the single-draw tail; every index stays in
		// range, and with n = 1 every index is 0.
		for _, n := range []int{1, 2, 5, 2500} {
			p := newPicker(rand.NewPCG(5, 6), n)
			idx := make([]uint32, 1001)
			for i := range idx {
				idx[i] = ^uint32(0)
			}
			p.fill(idx)
			for k, i := range idx {
				if int(i) >= n {
					t.Fatalf("n = %d: idx[%d] = %d", n, k, i)
				}
			}
		}
	})

	t.Run("RefusesBadSizes", func(t *testing.T) {
		t.Parallel()
		for _, n := range []int{0, -1, 1 << 32} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("newPicker(%d) did not panic", n)
					}
				}()
				newPicker(rand.NewPCG(1, 1), n)
			}()
		}
	})
}
