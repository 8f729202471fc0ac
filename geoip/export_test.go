package geoip

// Exported for the tests in package geoip_test.
var (
	ConvertASN = convertASN
	ExtractTGZ = extractTGZ
)

type ASNStats = asnStats
