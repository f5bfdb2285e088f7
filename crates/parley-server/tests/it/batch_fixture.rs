//! Uploading files and starting batches over real HTTP, for the batch tests.

use serde_json::{json, Value};

use crate::helpers::{TestApp, AGENT};

impl TestApp {
    /// Multipart upload (`file`, `file_type`), as Bland's docs describe it.
    pub async fn upload_multipart(
        &self,
        key: &str,
        name: &str,
        bytes: &[u8],
        file_type: Option<&str>,
    ) -> (u16, Value) {
        let mut form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_owned()),
        );
        if let Some(t) = file_type {
            form = form.text("file_type", t.to_owned());
        }
        let res = self
            .http
            .post(self.url("/v1/files/attach"))
            .header("authorization", key)
            .multipart(form)
            .send()
            .await
            .unwrap();
        read(res).await
    }

    /// Raw-body upload (`?file_type=batches&name=…`).
    pub async fn upload_raw(&self, key: &str, content_type: &str, bytes: &[u8]) -> (u16, Value) {
        let res = self
            .http
            .post(self.url("/v1/files/attach?file_type=batches&name=list"))
            .header("authorization", key)
            .header("content-type", content_type)
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        read(res).await
    }

    /// Uploads `bytes` for batches as org acme; returns the file id.
    pub async fn upload(&self, bytes: &[u8]) -> String {
        let (s, body) = self
            .upload_multipart(&self.key, "list.csv", bytes, Some("batches"))
            .await;
        assert_eq!(s, 200, "{body}");
        body["data"]["file_id"].as_str().unwrap().to_owned()
    }

    /// Starts a batch from AGENT with `message`; panics unless accepted.
    pub async fn start_batch(&self, file_id: &str, message: &str, extra: Value) -> Value {
        let mut global = json!({"agent_number": AGENT, "agent_message": message});
        if let Value::Object(m) = extra {
            for (k, v) in m {
                global[k] = v;
            }
        }
        let (s, body) = self
            .post(
                "/v1/sms/batch",
                &self.key,
                &json!({"file_id": file_id, "global": global}),
            )
            .await;
        assert_eq!(s, 200, "{body}");
        body["data"].clone()
    }

    pub async fn batch_status(&self, id: &str) -> Value {
        let (s, body) = self.get(&format!("/v1/sms/batch/{id}"), &self.key).await;
        assert_eq!(s, 200, "{body}");
        body["data"].clone()
    }

    pub async fn batch_errors_csv(&self, id: &str) -> String {
        let res = self
            .http
            .get(self.url(&format!("/v1/sms/batch/{id}/errors")))
            .header("authorization", &self.key)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
        res.text().await.unwrap()
    }

    /// Every message the sandbox handsets received from `from`, as (to, text).
    pub async fn received_from(&self, users: &[&str]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for u in users {
            for m in self.inbox(u).await {
                out.push((
                    m["to"].as_str().unwrap().to_owned(),
                    m["message"].as_str().unwrap().to_owned(),
                ));
            }
        }
        out
    }
}

async fn read(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}
