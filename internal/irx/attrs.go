package irx

func stripMemoryAttrs(out []string, touched map[string]bool) ([]string, error) { return out, nil }
