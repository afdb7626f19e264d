package main

// Statistics for the benchmarks (bench_integration_test.go, build tag bench), tested
// in the default run. The overhead benchmark's rounds are paired (one
// backup through ClickVault, one by hand), and on a small machine a backup
// now and then runs far faster or slower than the rest for reasons of its
// own (seen with no sidecar running at all); the median of the per-round
// ratios, with a confidence interval that assumes nothing about their
// distribution, is not moved by such a round. The mean is reported beside it.

import (
	"math"
	"slices"
	"testing"
)

func mean(xs []float64) float64 {
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

// stdErr is the standard error of the mean of xs.
func stdErr(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	m, ss := mean(xs), 0.0
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	return math.Sqrt(ss/float64(len(xs)-1)) / math.Sqrt(float64(len(xs)))
}

// medianCI returns the median of xs and a 95 % confidence interval for it
// from order statistics: the k-th smallest and k-th largest values, with k
// the largest for which fewer than k of n fair coin flips come up heads
// with probability at most 2.5 %. With fewer than six values no such k
// exists and the interval is the whole range.
func medianCI(xs []float64) (median, low, high float64) {
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	median = s[n/2]
	if n%2 == 0 {
		median = (s[n/2-1] + s[n/2]) / 2
	}
	k, below := 0, 0.0 // below: P(fewer than k heads)
	for k < n/2 {
		next := below + binomialHalf(n, k)
		if next > 0.025 {
			break
		}
		k, below = k+1, next
	}
	k = max(k, 1)
	return median, s[k-1], s[n-k]
}

// binomialHalf is P(exactly i heads in n fair flips).
func binomialHalf(n, i int) float64 {
	lg := func(x int) float64 { v, _ := math.Lgamma(float64(x + 1)); return v }
	return math.Exp(lg(n) - lg(i) - lg(n-i) - float64(n)*math.Ln2)
}

func TestMedianCI(t *testing.T) {
	xs := make([]float64, 20)
	for i := range xs {
		xs[i] = float64(20 - i) // 20 … 1, unsorted on purpose
	}
	med, low, high := medianCI(xs)
	// For 20 values the 95 % interval runs from the 6th to the 15th smallest.
	if med != 10.5 || low != 6 || high != 15 {
		t.Fatalf("median %v, CI %v–%v; want 10.5, 6–15", med, low, high)
	}
	med, low, high = medianCI([]float64{3, 1, 2})
	if med != 2 || low != 1 || high != 3 {
		t.Fatalf("three values: median %v, CI %v–%v; want 2, the whole range", med, low, high)
	}
}

func TestMeanAndStdErr(t *testing.T) {
	xs := []float64{2, 4, 4, 4, 5, 5, 7, 9}
	// Sample standard deviation sqrt(32/7); its error of the mean divides by sqrt(8).
	if m, se := mean(xs), stdErr(xs); m != 5 || math.Abs(se-math.Sqrt(32.0/7)/math.Sqrt(8)) > 1e-12 {
		t.Fatalf("mean %v, standard error %v; want 5, %v", m, se, math.Sqrt(32.0/7)/math.Sqrt(8))
	}
	if se := stdErr([]float64{3}); se != 0 {
		t.Fatalf("one value: standard error %v, want 0", se)
	}
}
