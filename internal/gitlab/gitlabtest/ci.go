package gitlabtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Routes of pipelines, jobs and uploads.
const (
	RouteCreatePipeline = "POST /api/v4/projects/{id}/pipeline"
	RouteGetPipeline    = "GET /api/v4/projects/{id}/pipelines/{pipeline}"
	RouteCancelPipeline = "POST /api/v4/projects/{id}/pipelines/{pipeline}/cancel"
	RoutePipelineJobs   = "GET /api/v4/projects/{id}/pipelines/{pipeline}/jobs"
	RouteJobArtifacts   = "GET /api/v4/projects/{id}/jobs/{job}/artifacts"
	RouteUpload         = "POST /api/v4/projects/{id}/uploads"
)

// PipelineRun is a pipeline the fake was asked to create: what a
// PipelineHandler sees.
type PipelineRun struct {
	ProjectID int64
	ID        int64
	Ref       string
	Variables map[string]string
}

// PipelineResult is what a pipeline ends as: its final status and its
// jobs (each with its status and artifacts zip, nil for none).
type PipelineResult struct {
	Status string
	Jobs   []FakeJob
}

// FakeJob is a job of a fake pipeline.
type FakeJob struct {
	Name          string
	Stage         string
	Status        string
	FailureReason string
	Artifacts     []byte
}

// PipelineHandler plays the runner: it gets the pipeline as created and
// returns how it ends. It runs in its own goroutine; the pipeline is
// "running" until it returns. ctx is canceled when the pipeline is
// canceled through the API (the handler should then return soon).
type PipelineHandler func(ctx context.Context, p PipelineRun) PipelineResult

type pipeline struct {
	run      PipelineRun
	status   string
	sha      string
	jobs     []*fakeJob
	cancel   context.CancelFunc
	canceled bool
}

type fakeJob struct {
	FakeJob
	ID int64
}

// UploadedFile is a file stored through the uploads API.
type UploadedFile struct {
	ProjectID int64
	Name      string
	Content   []byte
	URL       string
}

type ciState struct {
	handler   PipelineHandler
	paths     map[string]int64
	pipelines map[int64]*pipeline
	uploads   []UploadedFile
}

func (s *Server) ci() *ciState {
	if s.ciState == nil {
		s.ciState = &ciState{paths: map[string]int64{}, pipelines: map[int64]*pipeline{}}
	}
	return s.ciState
}

func (s *Server) registerCI(handle func(route string, h func(w http.ResponseWriter, r *http.Request, u User) (int, any))) {
	handle(RouteCreatePipeline, s.createPipeline)
	handle(RouteGetPipeline, s.getPipeline)
	handle(RouteCancelPipeline, s.cancelPipeline)
	handle(RoutePipelineJobs, s.pipelineJobs)
	handle(RouteJobArtifacts, s.jobArtifacts)
	handle(RouteUpload, s.upload)
}

// SetPipelineHandler makes the fake run pipelines with h.
func (s *Server) SetPipelineHandler(h PipelineHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ci().handler = h
}

// SetProjectPath lets the API address a project by "group/name".
func (s *Server) SetProjectPath(projectID int64, path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ci().paths[path] = projectID
	s.project(projectID)
}

// PipelineStatus returns a pipeline's status ("" when unknown).
func (s *Server) PipelineStatus(id int64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.ci().pipelines[id]; p != nil {
		return p.status
	}
	return ""
}

// Uploads returns the files uploaded to a project.
func (s *Server) Uploads(projectID int64) []UploadedFile {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []UploadedFile
	for _, u := range s.ci().uploads {
		if u.ProjectID == projectID {
			out = append(out, u)
		}
	}
	return out
}

func (s *Server) projectID(r *http.Request) (int64, bool) {
	v := r.PathValue("id")
	if id, err := strconv.ParseInt(v, 10, 64); err == nil {
		_, ok := s.projects[id]
		return id, ok
	}
	id, ok := s.ci().paths[v]
	return id, ok
}

func (s *Server) pipelineOf(r *http.Request) *pipeline {
	pid, ok := s.projectID(r)
	if !ok {
		return nil
	}
	id, _ := strconv.ParseInt(r.PathValue("pipeline"), 10, 64)
	p := s.ci().pipelines[id]
	if p == nil || p.run.ProjectID != pid {
		return nil
	}
	return p
}

func (s *Server) pipelineJSON(p *pipeline) map[string]any {
	now := time.Now().UTC().Format(time.RFC3339)
	return map[string]any{
		"id": p.run.ID, "iid": p.run.ID % 1000, "project_id": p.run.ProjectID, "sha": p.sha, "ref": p.run.Ref,
		"status": p.status, "source": "api", "created_at": now, "updated_at": now,
		"web_url": fmt.Sprintf("%s/project-%d/-/pipelines/%d", s.URL, p.run.ProjectID, p.run.ID),
	}
}

func (s *Server) createPipeline(_ http.ResponseWriter, r *http.Request, _ User) (int, any) {
	pid, ok := s.projectID(r)
	if !ok {
		return notFound()
	}
	var body struct {
		Ref       string `json:"ref"`
		Variables []struct {
			Key          string `json:"key"`
			Value        string `json:"value"`
			VariableType string `json:"variable_type"`
		} `json:"variables"`
	}
	if err := decodeJSON(r, &body); err != nil || body.Ref == "" {
		return badRequest("ref is missing")
	}
	c := s.ci()
	if c.handler == nil {
		// GitLab answers 400 when the ref has no .gitlab-ci.yml jobs.
		return http.StatusBadRequest, map[string]any{"message": map[string]any{"base": []string{"Pipeline will not run for the selected trigger. The rules configuration prevented any jobs from being added to the pipeline."}}}
	}
	run := PipelineRun{ProjectID: pid, ID: s.id(), Ref: body.Ref, Variables: map[string]string{}}
	for _, v := range body.Variables {
		run.Variables[v.Key] = v.Value
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &pipeline{run: run, status: "running", sha: fmt.Sprintf("%040x", run.ID), cancel: cancel}
	c.pipelines[run.ID] = p
	h := c.handler
	go func() {
		res := h(ctx, run)
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, j := range res.Jobs {
			fj := &fakeJob{FakeJob: j, ID: s.id()}
			if p.canceled && (fj.Status == "" || fj.Status == "running" || fj.Status == "pending") {
				fj.Status = "canceled"
			}
			p.jobs = append(p.jobs, fj)
		}
		if !p.canceled {
			p.status = res.Status
		}
	}()
	return http.StatusCreated, s.pipelineJSON(p)
}

func (s *Server) getPipeline(_ http.ResponseWriter, r *http.Request, _ User) (int, any) {
	p := s.pipelineOf(r)
	if p == nil {
		return notFound()
	}
	return http.StatusOK, s.pipelineJSON(p)
}

func (s *Server) cancelPipeline(_ http.ResponseWriter, r *http.Request, _ User) (int, any) {
	p := s.pipelineOf(r)
	if p == nil {
		return notFound()
	}
	switch p.status {
	case "success", "failed", "canceled", "skipped":
	default:
		p.status, p.canceled = "canceled", true
		p.cancel()
	}
	return http.StatusOK, s.pipelineJSON(p)
}

func (s *Server) pipelineJobs(w http.ResponseWriter, r *http.Request, _ User) (int, any) {
	p := s.pipelineOf(r)
	if p == nil {
		return notFound()
	}
	out := []map[string]any{}
	for _, j := range p.jobs {
		m := map[string]any{
			"id": j.ID, "name": j.Name, "stage": j.Stage, "status": j.Status, "ref": p.run.Ref,
			"pipeline":  map[string]any{"id": p.run.ID, "project_id": p.run.ProjectID, "ref": p.run.Ref, "sha": p.sha, "status": p.status},
			"web_url":   fmt.Sprintf("%s/project-%d/-/jobs/%d", s.URL, p.run.ProjectID, j.ID),
			"artifacts": []map[string]any{},
		}
		if j.FailureReason != "" {
			m["failure_reason"] = j.FailureReason
		}
		if j.Artifacts != nil {
			m["artifacts_file"] = map[string]any{"filename": "artifacts.zip", "size": len(j.Artifacts)}
			m["artifacts"] = []map[string]any{{"file_type": "archive", "size": len(j.Artifacts), "filename": "artifacts.zip", "file_format": "zip"}}
		}
		out = append(out, m)
	}
	return paginate(w, r, out)
}

func (s *Server) jobArtifacts(w http.ResponseWriter, r *http.Request, _ User) (int, any) {
	pid, ok := s.projectID(r)
	if !ok {
		return notFound()
	}
	id, _ := strconv.ParseInt(r.PathValue("job"), 10, 64)
	for _, p := range s.ci().pipelines {
		if p.run.ProjectID != pid {
			continue
		}
		for _, j := range p.jobs {
			if j.ID == id {
				if j.Artifacts == nil {
					return http.StatusNotFound, map[string]string{"message": "404 Not found"}
				}
				w.Header().Set("Content-Type", "application/zip")
				w.Header().Set("Content-Disposition", `attachment; filename="artifacts.zip"`)
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write(j.Artifacts)
				return 0, nil
			}
		}
	}
	return http.StatusNotFound, map[string]string{"message": "404 Job Not Found"}
}

func (s *Server) upload(_ http.ResponseWriter, r *http.Request, _ User) (int, any) {
	pid, ok := s.projectID(r)
	if !ok {
		return notFound()
	}
	f, hdr, err := r.FormFile("file")
	if err != nil {
		return badRequest("file is missing")
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return badRequest("file is unreadable")
	}
	sec := make([]byte, 16)
	_, _ = rand.Read(sec)
	secret := hex.EncodeToString(sec)
	url := fmt.Sprintf("/uploads/%s/%s", secret, hdr.Filename)
	s.ci().uploads = append(s.ci().uploads, UploadedFile{ProjectID: pid, Name: hdr.Filename, Content: slices.Clone(b), URL: url})
	alt := hdr.Filename
	if i := len(alt) - len(".png"); i > 0 && alt[i:] == ".png" {
		alt = alt[:i]
	}
	return http.StatusCreated, map[string]any{
		"id": s.id(), "alt": alt, "url": url, "full_path": fmt.Sprintf("/-/project/%d%s", pid, url),
		"markdown": fmt.Sprintf("![%s](%s)", alt, url),
	}
}

// decodeJSON reads a JSON request body (client-go sends POST options as
// JSON).
func decodeJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
