/// Names on the wire that every side of gongjid agrees on (the server reads them, clients send them).
public enum WireNames {
    /// The metadata header in which the gateway names the end user it acts for.
    public static let endUserHeader = "x-gongji-end-user"
}
