import FoghornJSON

func FoghornJSONParse(_ s: String) throws -> JSONValue { try JSONParser.parse(s) }
