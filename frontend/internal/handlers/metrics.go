package handlers

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gallows-game/gallows/gameclient"
)

type metrics struct {
	wsOpen    prometheus.Gauge
	wsRefused prometheus.Counter
	frames    prometheus.Counter
	guesses   *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		wsOpen:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "gallows_frontend_websockets", Help: "Open websockets."}),
		wsRefused: prometheus.NewCounter(prometheus.CounterOpts{Name: "gallows_frontend_websockets_refused_total", Help: "Websockets refused for their origin."}),
		frames:    prometheus.NewCounter(prometheus.CounterOpts{Name: "gallows_frontend_frames_rendered_total", Help: "Room states rendered for the sockets of a room."}),
		guesses: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gallows_frontend_guesses_total", Help: "Guesses by outcome."},
			[]string{"outcome"}),
	}
	reg.MustRegister(m.wsOpen, m.wsRefused, m.frames, m.guesses)
	return m
}

func (m *metrics) guess(err error) {
	outcome := "ok"
	if err != nil {
		outcome = gameclient.Reason(err).String()
	}
	m.guesses.WithLabelValues(outcome).Inc()
}
