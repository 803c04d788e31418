package kubernetes

// Serves exports serves for the tests of optional kinds.
var Serves = serves
