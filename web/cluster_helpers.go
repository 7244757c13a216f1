package web

import "net/url"

// faultURL is where a fault button of the cluster panel posts: action
// (kill, restart, freeze or cut) on backend id.
func faultURL(id, action string) string {
	return "/cluster/nodes/" + url.PathEscape(id) + "/" + action
}
