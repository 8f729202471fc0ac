package app

// ThrottleSize returns how many sign-in limiters s keeps.
func ThrottleSize(s *Service) int { return s.throttle.size() }
