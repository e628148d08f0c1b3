package mail

import (
	"strconv"
	"strings"
)

// The messages are written in plain Go rather than with text/template and
// html/template: those templates' reflective method calls made the linker
// keep every exported method of every type, about 4 MB of each binary that
// links this package. testdata/golden holds what the templates rendered; the
// code below reproduces it byte for byte (TestGolden).

// page is one message being written: its subject, its plain-text body and
// the content of its HTML body, which layout wraps.
type page struct {
	subject, text, html strings.Builder
}

// esc writes s to b escaped as html/template escapes text in an element's
// content, an RCDATA element (title) or a quoted attribute value: NUL
// becomes U+FFFD and " & ' + < > become character references. Every other
// byte, including bytes that are not UTF-8, is written as it is; no byte of
// a multi-byte UTF-8 sequence is one of these, so working on bytes is the
// same as working on runes.
func esc(b *strings.Builder, s string) {
	written := 0
	for i := 0; i < len(s); i++ {
		var repl string
		switch s[i] {
		case 0:
			repl = "\uFFFD"
		case '"':
			repl = "&#34;"
		case '&':
			repl = "&amp;"
		case '\'':
			repl = "&#39;"
		case '+':
			repl = "&#43;"
		case '<':
			repl = "&lt;"
		case '>':
			repl = "&gt;"
		default:
			continue
		}
		b.WriteString(s[written:i])
		b.WriteString(repl)
		written = i + 1
	}
	b.WriteString(s[written:])
}

// html writes parts to the HTML content: literal markup at even indexes,
// values to escape at odd ones.
func (p *page) h(parts ...string) {
	for i, s := range parts {
		if i%2 == 0 {
			p.html.WriteString(s)
		} else {
			esc(&p.html, s)
		}
	}
}

// t writes parts to the plain-text body as they are.
func (p *page) t(parts ...string) {
	for _, s := range parts {
		p.text.WriteString(s)
	}
}

// s writes parts to the subject as they are.
func (p *page) s(parts ...string) {
	for _, s := range parts {
		p.subject.WriteString(s)
	}
}

const (
	layoutHead = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n" +
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>"
	layoutBody = "</title>\n</head>\n" +
		"<body style=\"margin:0;padding:24px;background:#f6f6f6;font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5;color:#222;\">\n" +
		"<div style=\"max-width:600px;margin:0 auto;padding:24px;background:#fff;border-radius:6px;\">\n"
	layoutTail = "\n</div>\n</body>\n</html>\n"
)

// message finishes p. The subject is collapsed to one line so no value can
// break it into extra header lines; the HTML body is the content in the
// layout, titled with that subject.
func (p *page) message() Message {
	s := strings.Join(strings.Fields(p.subject.String()), " ")
	var html strings.Builder
	html.Grow(len(layoutHead) + len(s) + len(layoutBody) + p.html.Len() + len(layoutTail))
	html.WriteString(layoutHead)
	esc(&html, s)
	html.WriteString(layoutBody)
	html.WriteString(p.html.String())
	html.WriteString(layoutTail)
	return Message{
		Subject: s,
		Text:    strings.TrimSpace(p.text.String()) + "\n",
		HTML:    html.String(),
	}
}

// plural returns one if n is 1 and other otherwise.
func plural(n int, one, other string) string {
	if n == 1 {
		return one
	}
	return other
}

const (
	redeemText = " to redeem it onto your customer account, where the amount becomes credit that applies automatically to your next purchase."
	safeText   = " safe: anyone who has a code can spend it."
	cardStyle  = "<div style=\"margin:16px 0;padding:16px;border:1px dashed #999;border-radius:6px;text-align:center;\">\n" +
		"<div style=\"font-family:'Courier New',Courier,monospace;font-size:22px;font-weight:bold;letter-spacing:2px;\">"
)

func renderGiftCards(d GiftCardsData) Message {
	var p page
	one := len(d.Cards) == 1
	if d.ToRecipient {
		p.s(d.BuyerName, " sent you ", plural(len(d.Cards), "a gift card", "gift cards"), " for ", d.ShopName)
		p.t("Hello,\n\n", d.BuyerName, " has sent you ", plural(len(d.Cards), "a gift card", "gift cards"), " for ", d.ShopName, ".")
		p.h("<p>Hello,</p>\n<p><strong>", d.BuyerName, "</strong> has sent you "+plural(len(d.Cards), "a gift card", "gift cards")+" for ",
			d.ShopName, ".</p>")
	} else {
		p.s("Your ", d.ShopName, " gift ", plural(len(d.Cards), "card", "cards"))
		p.t("Hello ", d.BuyerName, ",\n\nThank you for your order at ", d.ShopName, ". Here ",
			plural(len(d.Cards), "is your gift card", "are your gift cards"), ".")
		p.h("<p>Hello ", d.BuyerName, ",</p>\n<p>Thank you for your order at ", d.ShopName,
			". Here "+plural(len(d.Cards), "is your gift card", "are your gift cards")+".</p>")
	}
	p.t("\n")
	p.h("\n")
	for _, c := range d.Cards {
		p.t("\nCode:   ", c.Code, "\nAmount: ", c.Amount, "\n")
		p.h(cardStyle, c.Code, "</div>\n<div style=\"margin-top:4px;\">", c.Amount, "</div>\n</div>\n")
	}
	codes := "these codes"
	if one {
		codes = "this code"
	}
	p.t("\nHow to redeem: give the code at checkout at ", d.ShopName, ", or ask ", d.ShopName, redeemText,
		"\n\nKeep ", codes, safeText, "\n\n", d.ShopName, "\n")
	p.h("<p><strong>How to redeem:</strong> give the code at checkout at ", d.ShopName, ", or ask ", d.ShopName,
		redeemText+"</p>\n<p>Keep "+codes+safeText+"</p>\n<p>", d.ShopName, "</p>")
	return p.message()
}

const (
	labelCell  = "<tr><td style=\"padding:2px 16px 2px 0;color:#666;\">"
	maskedText = "Codes are masked here: the full codes were shown once when the order was placed and emailed only to the buyer and each card's recipient."
)

func renderOrderConfirmation(d OrderConfirmationData) Message {
	var p page
	p.s(d.ShopName, ": order ", d.OrderID, " placed, ", d.Total)
	p.t("Order ", d.OrderID, " was placed at ", d.ShopName, ".\n\n",
		"Billed to:      ", d.BillingName, " (", d.BillingEmail, ")\n",
		"Payment method: ", d.PaymentMethod, "\n",
		"Total:          ", d.Total, "\n",
		"Credit applied: ", d.CreditApplied, "\n",
		"Amount due:     ", d.AmountDue, "\n")
	p.h("<p>Order <strong>", d.OrderID, "</strong> was placed at ", d.ShopName, ".</p>\n<table style=\"border-collapse:collapse;\">\n"+
		labelCell+"Billed to</td><td>", d.BillingName, " (", d.BillingEmail, ")</td></tr>\n"+
		labelCell+"Payment method</td><td>", d.PaymentMethod, "</td></tr>\n"+
		labelCell+"Total</td><td>", d.Total, "</td></tr>\n"+
		labelCell+"Credit applied</td><td>", d.CreditApplied, "</td></tr>\n"+
		labelCell+"<strong>Amount due</strong></td><td><strong>", d.AmountDue, "</strong></td></tr>\n</table>\n")
	if len(d.Cards) > 0 {
		n := strconv.Itoa(len(d.Cards))
		p.t("\nGift cards issued (", n, "):\n")
		p.h("<h3 style=\"margin:24px 0 8px;font-size:16px;\">Gift cards issued (", n, ")</h3>\n<table style=\"border-collapse:collapse;\">\n"+
			"<tr><th style=\"padding:4px 16px 4px 0;text-align:left;\">Code</th><th style=\"padding:4px 16px 4px 0;text-align:left;\">Amount</th>"+
			"<th style=\"padding:4px 0;text-align:left;\">Sent to</th></tr>\n")
		for _, c := range d.Cards {
			to := c.Recipient
			if to == "" {
				to = "the buyer"
			}
			p.t("\n  ", c.Masked, "  ", c.Amount, "  sent to ", to)
			p.h("<tr><td style=\"padding:4px 16px 4px 0;font-family:'Courier New',Courier,monospace;\">", c.Masked,
				"</td><td style=\"padding:4px 16px 4px 0;\">", c.Amount, "</td><td style=\"padding:4px 0;\">", to, "</td></tr>\n")
		}
		p.t("\n\n", maskedText, "\n")
		p.h("</table>\n<p style=\"color:#666;\">" + maskedText + "</p>")
	}
	return p.message()
}

const (
	investigateText = "Investigate before anything else is posted: every transaction must balance and every balance must equal the sum of its postings."
	noBreachesText  = " every transaction balances and every balance equals the sum of its postings."
)

func renderAuditReport(d AuditReportData) Message {
	var p page
	p.s(d.ShopName, " ledger audit: ")
	tx := strconv.Itoa(d.Transactions)
	p.t("Ledger audit of ", d.ShopName, ", run ", d.CheckedAt, ".\n\nTransactions checked: ", tx, "\n")
	p.h("<p>Ledger audit of ", d.ShopName, ", run ", d.CheckedAt, ".</p>\n<p>Transactions checked: <strong>", tx, "</strong></p>\n")
	if len(d.Breaches) > 0 {
		n := strconv.Itoa(len(d.Breaches))
		were := plural(len(d.Breaches), "invariant was", "invariants were")
		p.s(n, " ", plural(len(d.Breaches), "breach", "breaches"), " found")
		p.t("\n", n, " ", were, " found broken:\n")
		p.h("<p style=\"color:#b00020;\"><strong>", n, " "+were+" found broken:</strong></p>\n<ul>\n")
		for _, b := range d.Breaches {
			p.t("\n- ", b)
			p.h("<li>", b, "</li>\n")
		}
		p.t("\n\n", investigateText, "\n")
		p.h("</ul>\n<p>" + investigateText + "</p>")
	} else {
		p.s("OK")
		p.t("\nNo breaches:", noBreachesText, "\n")
		p.h("<p style=\"color:#1b5e20;\"><strong>No breaches:</strong>" + noBreachesText + "</p>")
	}
	return p.message()
}

func renderPromotionSummary(d PromotionSummaryData) Message {
	var p page
	granted := strconv.Itoa(d.CreditsGranted)
	examined := strconv.Itoa(d.OrdersExamined)
	p.s(d.ShopName, " promotion \"", d.PromotionName, "\": ", granted, " ", plural(d.CreditsGranted, "credit", "credits"), " granted")
	p.t("Promotion run for \"", d.PromotionName, "\" at ", d.ShopName, ".\n\n",
		"Orders examined: ", examined, "\n",
		"Credits granted: ", granted, "\n",
		"Total granted:   ", d.AmountGranted, "\n")
	p.h("<p>Promotion run for <strong>", d.PromotionName, "</strong> at ", d.ShopName, ".</p>\n<table style=\"border-collapse:collapse;\">\n"+
		labelCell+"Orders examined</td><td>", examined, "</td></tr>\n"+
		labelCell+"Credits granted</td><td>", granted, "</td></tr>\n"+
		labelCell+"Total granted</td><td><strong>", d.AmountGranted, "</strong></td></tr>\n</table>\n")
	if len(d.Skipped) > 0 {
		p.t("\nOrders skipped:\n")
		p.h("<h3 style=\"margin:24px 0 8px;font-size:16px;\">Orders skipped</h3>\n<ul>\n")
		for _, s := range d.Skipped {
			n := strconv.Itoa(s.Count)
			p.t("\n- ", s.Reason, ": ", n)
			p.h("<li>", s.Reason, ": ", n, "</li>\n")
		}
		p.t("\n")
		p.h("</ul>")
	}
	return p.message()
}

const creditText = "It applies automatically to your next purchase there (credit pays for goods, not for gift cards)."

func renderPromotionCredit(d PromotionCreditData) Message {
	var p page
	p.s("You received ", d.Amount, " of credit at ", d.ShopName)
	p.t("Hello")
	p.h("<p>Hello")
	if d.CustomerName != "" {
		p.t(" ", d.CustomerName)
		p.h(" ", d.CustomerName)
	}
	p.t(",\n\nThanks to the promotion \"", d.PromotionName, "\", ", d.Amount, " of credit has been added to your account at ", d.ShopName,
		".\n\n"+creditText+"\n\n", d.ShopName, "\n")
	p.h(",</p>\n<p>Thanks to the promotion <strong>", d.PromotionName, "</strong>, <strong>", d.Amount,
		"</strong> of credit has been added to your account at ", d.ShopName, ".</p>\n<p>"+creditText+"</p>\n<p>", d.ShopName, "</p>")
	return p.message()
}

const expiryText = "Credit is spent automatically on your next purchases, the credit that expires soonest first."

func renderCreditExpiry(d CreditExpiryData) Message {
	var p page
	p.s(d.Amount, " of your credit at ", d.ShopName, " expires on ", d.ExpiresAt)
	p.t("Hello")
	p.h("<p>Hello")
	if d.CustomerName != "" {
		p.t(" ", d.CustomerName)
		p.h(" ", d.CustomerName)
	}
	p.t(",\n\n", d.Amount, " of the credit on your account at ", d.ShopName, " expires on ", d.ExpiresAt,
		". Use it before then.\n\n"+expiryText+"\n\n", d.ShopName, "\n")
	p.h(",</p>\n<p><strong>", d.Amount, "</strong> of the credit on your account at ", d.ShopName, " expires on <strong>", d.ExpiresAt,
		"</strong>. Use it before then.</p>\n<p>"+expiryText+"</p>\n<p>", d.ShopName, "</p>")
	return p.message()
}

const (
	guessedText = " gift card codes that do not exist, were already used or are disabled have been tried at "
	lockedText  = "Nobody has been locked out: each customer and each client reference of the shop's checkout has its own limit, " +
		"and with 80-bit codes guessing a live card is hopeless even at this rate. A surge like this usually means a script is " +
		"probing your balance-check page or redemption form; block the client at your storefront if it continues."
	hourlyText = "You get this message at most once an hour."
)

func renderGuessingAlert(d GuessingAlertData) Message {
	var p page
	n := strconv.Itoa(d.Failures)
	p.s(d.ShopName, ": unusual number of failed gift card code attempts")
	p.t(n, guessedText, d.ShopName, " in the hour from ", d.WindowStart, ".\n\n"+lockedText+"\n\n"+hourlyText)
	p.h("<p><strong>", n, "</strong>"+guessedText, d.ShopName, " in the hour from ", d.WindowStart,
		".</p>\n<p>"+lockedText+"</p>\n<p>"+hourlyText+"</p>")
	return p.message()
}
