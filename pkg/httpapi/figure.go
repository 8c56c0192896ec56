package httpapi

import "math"

// figureScale is 10^figureDecimals: computed figures keep 9 decimal places
// in responses, as the document's Conventions section says.
const figureScale = 1e9

// figure rounds a computed figure (a cost, score, rate, interval bound,
// standard error, latency or throughput) to 9 decimal places for a
// response. Float arithmetic leaves noise in sums and means
// (0.1799999999999998 for 0.18) that no reader should have to see, and a
// nano-dollar is below any price SABE sees. Rounding happens here, at the
// edge, so that the domain keeps computing with full precision. Values too
// large to carry 9 decimals anyway, and NaN and infinities, pass through.
func figure(v float64) float64 {
	if math.IsNaN(v) || math.Abs(v) >= 1e15 {
		return v
	}
	return math.Round(v*figureScale) / figureScale
}

// figurePtr is figure for an optional figure.
func figurePtr(p *float64) *float64 {
	if p == nil {
		return nil
	}
	v := figure(*p)
	return &v
}
