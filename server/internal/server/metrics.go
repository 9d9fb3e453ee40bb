package server

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus series. They carry counts and
// durations only: never message text, nicknames or login IDs.
type metrics struct {
	reg            *prometheus.Registry
	connections    *prometheus.GaugeVec
	messages       *prometheus.CounterVec
	framesOut      prometheus.Counter
	slowClosed     prometheus.Counter
	busy           prometheus.Counter
	calledBack     prometheus.Counter
	writers        prometheus.Gauge
	badFrames      prometheus.Counter
	logins         *prometheus.CounterVec
	sweeps         prometheus.Counter
	sweptMessages  prometheus.Counter
	commitBatch    prometheus.Histogram
	commitDuration prometheus.Histogram
	pushDropped    prometheus.Counter
	heartbeatLost  prometheus.Counter
	attachments    prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "taiwa_connections", Help: "Live WebSocket connections by role.",
		}, []string{"role"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "taiwa_messages_total", Help: "Messages stored, by sender role.",
		}, []string{"role"}),
		framesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "taiwa_frames_queued_total", Help: "Frames queued to live connections.",
		}),
		slowClosed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "taiwa_slow_connections_closed_total", Help: "Connections closed because their send queue was full.",
		}),
		busy: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "taiwa_sends_busy_total", Help: "Sends refused as busy (the apps send them again after retry_after).",
		}),
		calledBack: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "taiwa_connections_called_back_total", Help: "Connections holding busy-refused sends told to send them now (resume frames).",
		}),
		writers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "taiwa_connection_writers", Help: "Live connections with a writer running; an idle connection holds only its reader.",
		}),
		badFrames: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "taiwa_bad_frames_total", Help: "Frames refused as malformed or not allowed.",
		}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "taiwa_logins_total", Help: "Login attempts by result.",
		}, []string{"result"}),
		sweeps: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "taiwa_sweeps_total", Help: "Retention sweeps run.",
		}),
		sweptMessages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "taiwa_swept_messages_total", Help: "Messages deleted by retention sweeps.",
		}),
		commitBatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "taiwa_commit_batch_size", Help: "Writes per group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10),
		}),
		pushDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "taiwa_push_dropped_total", Help: "Push notices dropped because the push queue was full.",
		}),
		heartbeatLost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "taiwa_heartbeat_lost_total", Help: "Connections dropped because an app that pings fell silent.",
		}),
		attachments: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "taiwa_attachments_total", Help: "Attachments uploaded (counted only: no names, types or sizes).",
		}),
		commitDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "taiwa_commit_seconds", Help: "Duration of one group commit.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12),
		}),
	}
	m.reg.MustRegister(m.connections, m.messages, m.framesOut, m.slowClosed, m.busy, m.calledBack, m.writers, m.badFrames, m.logins,
		m.sweeps, m.sweptMessages, m.commitBatch, m.commitDuration, m.pushDropped, m.heartbeatLost, m.attachments,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Export every role from the start, so dashboards see zeros, not gaps.
	for _, r := range []string{"admin", "counselor", "client"} {
		m.connections.WithLabelValues(r)
		m.messages.WithLabelValues(r)
	}
	return m
}

func (m *metrics) observeBatch(n int, d time.Duration) {
	m.commitBatch.Observe(float64(n))
	m.commitDuration.Observe(d.Seconds())
}
