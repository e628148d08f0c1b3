package apigw

import (
	"context"
	"mime"
	"net/http"
	"strconv"
	"strings"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// textBody is a reply body sent as it is, with its content type and
// extra headers, instead of encoded as JSON.
type textBody struct {
	contentType string
	text        string
	headers     map[string]string
}

// LiabilityReportBody is the JSON answer of GET /v1/reports/liability.
type LiabilityReportBody = gc.LiabilityReport

func liabilityReport(ctx context.Context, h *Handler, r request) (reply, error) {
	rg, err := gc.ParseReportRange(r.query["from"], r.query["to"], r.query["currency"], h.cfg.Now())
	if err != nil {
		return reply{}, err
	}
	rep, days, err := h.cfg.Reports.Liability(ctx, r.actor.ShopID, rg)
	if err != nil {
		return reply{}, err
	}
	if !wantsCSV(r.accept) {
		return reply{http.StatusOK, rep}, nil
	}
	name := "liability-" + rep.Currency + "-" + rep.From + "-" + rep.To + ".csv"
	return reply{http.StatusOK, textBody{contentType: "text/csv; charset=utf-8", text: gc.LiabilityCSV(days),
		headers: map[string]string{"Content-Disposition": `attachment; filename="` + name + `"`}}}, nil
}

// wantsCSV reports whether an Accept header prefers text/csv to JSON: it
// names text/csv with a quality above zero and at least that of any
// JSON (application/json or a wildcard) it also names.
func wantsCSV(accept string) bool {
	csv, json := -1.0, -1.0
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		switch mt {
		case "text/csv":
			csv = max(csv, q)
		case "application/json", "application/*", "*/*":
			json = max(json, q)
		}
	}
	return csv > 0 && csv >= json
}
