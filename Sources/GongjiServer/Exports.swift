// The configuration types are part of the server's API: whoever builds a daemon names them.
@_exported import GongjiConfiguration
