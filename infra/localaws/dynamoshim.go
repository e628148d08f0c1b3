package localaws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// dynamoShim is a loopback HTTP proxy in front of a DynamoDB endpoint for
// dynamodb-admin. It forwards every request, and fills in what minidyn
// lacks: a ListTables the server refuses is answered with the one table,
// a refused DescribeTimeToLive with DISABLED (minidyn has no TTL), and a
// DescribeTable of that table without AttributeDefinitions or
// TableStatus gets them (from the template) and ACTIVE. A full DynamoDB
// (DynamoDB Local, AWS) answers both itself and is passed through.
type dynamoShim struct {
	url string
	srv *http.Server
}

const dynamoTarget = "DynamoDB_20120810."

func startDynamoShim(endpoint, table string, attributes map[string]string) (*dynamoShim, error) {
	target, err := url.Parse(endpoint)
	if err != nil || target.Host == "" {
		return nil, fmt.Errorf("dynamodb shim: endpoint %q is not a URL", endpoint)
	}
	var defs []map[string]string
	for _, name := range sortedKeys(attributes) {
		defs = append(defs, map[string]string{"AttributeName": name, "AttributeType": attributes[name]})
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		switch resp.Request.Header.Get("X-Amz-Target") {
		case dynamoTarget + "ListTables":
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			b, _ := json.Marshal(map[string][]string{"TableNames": {table}})
			replaceBody(resp, http.StatusOK, b)
		case dynamoTarget + "DescribeTimeToLive":
			// minidyn neither answers nor emulates TTL: DISABLED is the truth.
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			b, _ := json.Marshal(map[string]map[string]string{"TimeToLiveDescription": {"TimeToLiveStatus": "DISABLED"}})
			replaceBody(resp, http.StatusOK, b)
		case dynamoTarget + "DescribeTable":
			if resp.StatusCode != http.StatusOK {
				return nil
			}
			raw, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err != nil {
				return err
			}
			var out map[string]map[string]any
			if json.Unmarshal(raw, &out) != nil || out["Table"] == nil || out["Table"]["TableName"] != table {
				replaceBody(resp, resp.StatusCode, raw)
				return nil
			}
			t := out["Table"]
			for k, v := range t {
				if v == nil {
					delete(t, k)
				}
			}
			if _, ok := t["AttributeDefinitions"]; !ok {
				t["AttributeDefinitions"] = defs
			}
			if s, _ := t["TableStatus"].(string); s == "" {
				t["TableStatus"] = "ACTIVE"
			}
			if _, ok := t["CreationDateTime"]; !ok {
				t["CreationDateTime"] = float64(time.Now().Unix())
			}
			b, err := json.Marshal(out)
			if err != nil {
				return err
			}
			replaceBody(resp, http.StatusOK, b)
		}
		return nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("dynamodb shim: %w", err)
	}
	s := &dynamoShim{url: "http://" + ln.Addr().String(), srv: &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *dynamoShim) close() { _ = s.srv.Close() }

func replaceBody(resp *http.Response, status int, b []byte) {
	resp.StatusCode = status
	resp.Status = strconv.Itoa(status) + " " + http.StatusText(status)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
	resp.Header.Set("Content-Type", "application/x-amz-json-1.0")
	// The body changed, so the server's checksum of it no longer holds.
	resp.Header.Del("X-Amz-Crc32")
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
