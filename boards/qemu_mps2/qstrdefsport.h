// qstrs used by the port but not found by the scan of its sources
Q(/lib)
