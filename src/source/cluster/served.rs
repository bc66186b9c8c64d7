//! What the API serves of MetalLB's group, asked only when a MetalLB list was not found
//! (404): a cluster whose CRDs serve another version, or lack one resource, is told apart
//! from a cluster without MetalLB.

use serde::Deserialize;

use super::{Fetched, Listed, METALLB_API, Reader};
use crate::snapshot::ApiResourceList;
use crate::source::failure::Served;

/// An `APIGroup` discovery document, for its versions.
#[derive(Deserialize)]
struct ApiGroup {
    #[serde(default)]
    versions: Vec<GroupVersion>,
}

#[derive(Deserialize)]
struct GroupVersion {
    #[serde(default)]
    version: String,
}

fn not_found<T>(list: &Listed<T>) -> bool {
    matches!(list, Err(e) if e.status() == Some(404))
}

fn attach<T>(list: &mut Listed<T>, served: &Served) {
    if let Err(e) = list
        && e.status() == Some(404)
    {
        e.served = Some(served.clone());
    }
}

/// `("metallb.io", "v1beta1")` from `/apis/metallb.io/v1beta1`.
fn group_and_version(api: &str) -> (&str, &str) {
    let path = api.trim_start_matches("/apis/");
    path.split_once('/').unwrap_or((path, ""))
}

impl Reader {
    /// The MetalLB lists that were not found, told what the group serves instead.
    pub(super) async fn explain_missing(&self, fetched: &mut Fetched) {
        let lists = [
            not_found(&fetched.pools.cluster_wide),
            not_found(&fetched.l2.cluster_wide),
            not_found(&fetched.bgp.cluster_wide),
        ];
        if !lists.contains(&true) {
            return;
        }
        let Some(served) = self.served().await else {
            return;
        };
        attach(&mut fetched.pools.cluster_wide, &served);
        attach(&mut fetched.l2.cluster_wide, &served);
        attach(&mut fetched.bgp.cluster_wide, &served);
    }

    /// The versions of MetalLB's group and their resources; `None` when discovery cannot
    /// tell (then the 404 speaks for itself).
    async fn served(&self) -> Option<Served> {
        let (group, wanted) = group_and_version(METALLB_API);
        let path = format!("/apis/{group}");
        let request = http::Request::get(&path).body(Vec::new()).ok()?;
        let document: ApiGroup = match self.call(request, "get", &path, None).await {
            Ok(document) => document,
            Err(e) if e.status() == Some(404) => ApiGroup {
                versions: Vec::new(),
            },
            Err(_) => return None,
        };
        let mut versions = Vec::new();
        for GroupVersion { version } in document.versions {
            let path = format!("/apis/{group}/{version}");
            let request = http::Request::get(&path).body(Vec::new()).ok()?;
            let list: ApiResourceList = self.call(request, "get", &path, None).await.ok()?;
            let mut resources: Vec<String> = list
                .resources
                .into_iter()
                .map(|r| r.name)
                .filter(|name| !name.is_empty() && !name.contains('/'))
                .collect();
            resources.sort();
            versions.push((version, resources));
        }
        Some(Served {
            group: group.to_string(),
            wanted: wanted.to_string(),
            versions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_group_and_version_of_an_api_path() {
        assert_eq!(group_and_version(METALLB_API), ("metallb.io", "v1beta1"));
    }
}
