package daemon

import "time"

// Observer receives the measurements that are events rather than state
// (the state is read from Status at scrape time). *metrics.Metrics
// implements it.
type Observer interface {
	ObserveFailover(instance string, d time.Duration)
	RemediationSent(instance, kind string, n int)
	Misdirected(instance, vip string, n int)
	HealthCheck(instance, check string, healthy bool)
}

type nopObserver struct{}

func (nopObserver) ObserveFailover(string, time.Duration) {}
func (nopObserver) RemediationSent(string, string, int)   {}
func (nopObserver) Misdirected(string, string, int)       {}
func (nopObserver) HealthCheck(string, string, bool)      {}
