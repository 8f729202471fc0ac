package webhook

// RefuseForbidden is the dialer's Control, for tests.
var RefuseForbidden = refuseForbidden
