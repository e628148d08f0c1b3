package sesmail

import "time"

// Timeout returns the deadline m applies to a context without one (tests).
func Timeout(m *Mailer) time.Duration { return m.timeout }

// SetTimeout shortens m's default deadline so a test of it runs fast.
func SetTimeout(m *Mailer, d time.Duration) { m.timeout = d }
