// promparse reads Prometheus text exposition on stdin with Prometheus's own parser (expfmt) and prints the
// metric families as JSON, so the tests read /metrics exactly as a Prometheus server would.
package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

type bucket struct {
	Le    string  `json:"le"`
	Count float64 `json:"count"`
}

type sample struct {
	Labels  map[string]string `json:"labels"`
	Value   *float64          `json:"value,omitempty"`
	Count   *float64          `json:"count,omitempty"`
	Sum     *float64          `json:"sum,omitempty"`
	Buckets []bucket          `json:"buckets,omitempty"`
}

type family struct {
	Name    string   `json:"name"`
	Type    string   `json:"type"`
	Help    string   `json:"help"`
	Samples []sample `json:"samples"`
}

// f boxes a value for JSON, which has no NaN or infinities (a gauge may be NaN before its first reading).
func f(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func main() {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "promparse:", err)
		os.Exit(1)
	}
	names := make([]string, 0, len(families))
	for n := range families {
		names = append(names, n)
	}
	sort.Strings(names)
	out := []family{}
	for _, n := range names {
		mf := families[n]
		fam := family{Name: n, Type: mf.GetType().String(), Help: mf.GetHelp()}
		for _, m := range mf.GetMetric() {
			s := sample{Labels: map[string]string{}}
			for _, l := range m.GetLabel() {
				s.Labels[l.GetName()] = l.GetValue()
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				s.Value = f(m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				s.Value = f(m.GetGauge().GetValue())
			case dto.MetricType_UNTYPED:
				s.Value = f(m.GetUntyped().GetValue())
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				s.Count = f(float64(h.GetSampleCount()))
				s.Sum = f(h.GetSampleSum())
				for _, b := range h.GetBucket() {
					le := fmt.Sprint(b.GetUpperBound())
					if math.IsInf(b.GetUpperBound(), 1) {
						le = "+Inf"
					}
					s.Buckets = append(s.Buckets, bucket{Le: le, Count: float64(b.GetCumulativeCount())})
				}
			}
			fam.Samples = append(fam.Samples, s)
		}
		out = append(out, fam)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "promparse:", err)
		os.Exit(1)
	}
}
